"""Barcode rendering library shared by the generator (renders jobs) and the gateway (dry-run
validation): symbology data rules, the engines behind one interface, vector conversions and
decode-back verification. Pure CPU, no I/O, no event loop."""
