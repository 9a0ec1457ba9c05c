"""What the clinic sends to patients: calendar files now; emails through an outbox later."""
