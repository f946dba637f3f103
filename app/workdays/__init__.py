"""China's official working days: the calendar the disputes' deadlines and the exchange desk's announcements
are counted on, and the schedules an admin loads for years ``chinese-calendar`` does not ship."""
