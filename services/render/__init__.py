"""Barcode rendering library shared by the generator (renders jobs) and the gateway (dry-run
validation): the symbology catalogue (`symbologies`) and its option rules (`options`), symbology
data rules, the engines behind one interface, vector conversions and decode-back verification.
Pure CPU, no I/O, no event loop. The package itself imports nothing, so `symbologies` and
`options` load no engine."""
