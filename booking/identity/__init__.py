"""The page a patient reaches from the email asking them to confirm a booking was theirs."""
