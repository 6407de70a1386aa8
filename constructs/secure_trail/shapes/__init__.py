"""The two deployment shapes, ``single`` (one stack) and ``organization`` (a Log Archive and
a Trail stack), both built by the one routine in ``compose``."""
