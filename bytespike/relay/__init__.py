"""The use case: authorize → admit → route → call → settle. No HTTP framework types here."""
