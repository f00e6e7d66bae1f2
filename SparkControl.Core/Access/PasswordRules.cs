namespace SparkControl.Core.Access;

/// <summary>The rules a user name and a password must meet, shared by the setup page, the Access page and the API.</summary>
public static class PasswordRules
{
    public const int MinimumLength = 10;
    public const int MaximumLength = 256;

    public static string? Validate(string? password, string field = "password")
    {
        if (string.IsNullOrEmpty(password))
        {
            return $"{field} is required";
        }

        if (password.Length < MinimumLength)
        {
            return $"{field} must be at least {MinimumLength} characters";
        }

        if (password.Length > MaximumLength)
        {
            return $"{field} must be at most {MaximumLength} characters";
        }

        return password.Any(char.IsControl) ? $"{field} must not hold control characters (a line break, a tab)" : null;
    }
}

/// <summary>Hashes and checks passwords; the web layer supplies the framework's password hasher.</summary>
public interface IPasswordHashing
{
    string Hash(string password);

    /// <summary>True when <paramref name="password"/> matches; <paramref name="rehash"/> is set when the hash should be upgraded.</summary>
    bool Verify(string hash, string password, out bool rehash);
}
