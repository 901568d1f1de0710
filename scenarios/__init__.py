"""The traffic days as data (`days/*.yaml`: back-to-school, cutover-day, grade-deadline, …)
and their computation from a district profile into the engine's load plan: populations
(`district`), windows and bells (`builder`, `shapes`), the assumption ledger (`ledger`,
`assumptions.yaml`) and the plan itself (`compute`)."""
