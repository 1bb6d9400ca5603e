"""Contract requests: salespeople submit Contract Requests with a contract file in Salesforce; the hub picks
them up (``pickup``), an approver decides (``decisions``), profiles and documents are kept in ``sb_`` tables
(``registry``), files go back to the Opportunity (``sharing``) and signature is a webhook hook (``signature``).
``runner.run_contracts`` plays one round of all of it."""
