"""The vault: field encryption of records, key rotation and rewrap, PAN tokenisation,
masking and crypto-shredding.

Keys form a hierarchy (``keys``): a root key from a provider → versioned key-encryption
keys → one data key per data subject. Records (``records``) are encrypted field by field
(``fields``) under their subject's data key, found through keyed blind indexes
(``blind_index``), and erased by destroying that key (``shred``). AI workloads get a
one-call view of the fields their policy allows (``workload``). ``services.Vault`` is the
façade the composition root builds.
"""
