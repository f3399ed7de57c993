"""Personal data at rest: master key, key store, subject pseudonyms, sealed envelopes, retention,
the grounds for shredding, and store files that only their owner reads.

Imports nothing of ours (like `routing/`): the event side (`events/`) seals and
opens personal data through `Kluis`; the composition root (`loket/`) configures it.
"""
