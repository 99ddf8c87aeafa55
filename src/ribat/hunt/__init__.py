"""Hunt: match STIX indicators against logs and share the sightings.

Owns pattern compilation, log readers, matching, sightings and Dask scale-out. Calls ribat.intel and ribat.accounts.
"""
