"""Identity: principals (people and AI workloads), roles, passwords, MFA, sessions, lockout."""
