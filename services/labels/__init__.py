"""Label sheets: print-ready PDF pages of barcodes at their true size (the batcher writes them; the gateway checks a layout before it takes a batch)."""
