"""Batcher: fans a batch out into jobs, counts its rows, assembles its ZIP, manifest and label sheet."""
