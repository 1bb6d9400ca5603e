"""Ready-made business flows on top of the sync loop: mail (IMAP messages saved as Tasks), contacts (CardDAV
address books <-> Contacts and Leads) and lead conversion from the hub."""
