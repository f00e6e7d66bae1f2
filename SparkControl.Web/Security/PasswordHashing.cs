using Microsoft.AspNetCore.Identity;
using SparkControl.Core.Access;

namespace SparkControl.Web.Security;

/// <summary>The framework's password hasher (PBKDF2, salted, versioned) behind Core's hashing interface.</summary>
public sealed class PasswordHashing : IPasswordHashing
{
    private static readonly object User = new();
    private readonly PasswordHasher<object> _hasher = new();

    public string Hash(string password) => _hasher.HashPassword(User, password);

    public bool Verify(string hash, string password, out bool rehash)
    {
        var result = _hasher.VerifyHashedPassword(User, hash, password);
        rehash = result == PasswordVerificationResult.SuccessRehashNeeded;
        return result != PasswordVerificationResult.Failed;
    }
}
