"""Analysis: the statistics every indicator uses (`stats`) and the comparison with peer partnerships (`peers`)."""
