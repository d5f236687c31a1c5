"""Building blocks of the pages that callbacks share: figures and settings tables."""
