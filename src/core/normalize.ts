/**
 * Emails and usernames are unique inside a directory whatever their case: they are matched and
 * indexed by this form.
 */
export const normEmail = (e: string | null): string | null => (e == null ? null : e.toLowerCase())
export const normUsername = normEmail
