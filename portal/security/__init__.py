"""Sign-in and brute-force defence: the credential check, the lockout policy, its failure
budgets, admins' locks, known devices and the audit trail."""
