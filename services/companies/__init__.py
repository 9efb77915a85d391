"""Company profiles (config/companies.yaml): what each company's requests default to and may
ask for. The router applies them to every request; the gateway lists them (GET /v1/companies,
the try-it page). Both load them with `profiles.load_profiles`, so neither imports the other."""
