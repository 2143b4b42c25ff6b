"""CSV import: fetch the file from the portal, match the catalog, write rows in batches, resumably."""
