"""Content: which sound is said in each mel frame, independent of who says it.

`phones.py` holds the phone set and pocketsphinx alignments mapped onto the mel's frame grid (training labels).
"""
