"""Selection: which stories make the next digest, told by which telling, and why each other
candidate is left out (choose.py: `select`).

Each article is fingerprinted once (fingerprint.py, on every core: parallel.py); the
candidates are related as copies (copies.py) and other reports of one event (similarity.py,
batch.py), grouped into stories (stories.py), and matched with what was sent (sent.py,
already_sent.py).

Nothing is imported here: a helper process imports fingerprinting alone, without the rest
of selection (scipy among it), and so starts sooner.
"""
