using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Access;

/// <summary>
/// First run: while no user exists and sign-in is required, a one-time token (in the log and in <c>setup-token</c>, mode
/// 0600, in the data directory) lets the first visitor make the admin account. Used once, then gone.
/// </summary>
public sealed partial class SetupToken(UserDirectory users, DataDirectory dataDirectory, ILogger<SetupToken> logger)
{
    public const string FileName = "setup-token";

    private readonly Lock _gate = new();
    private byte[]? _hash;

    /// <summary>Where the token is written, for the setup page to point at.</summary>
    public string FilePath => dataDirectory.Resolve(FileName);

    public bool IsNeeded => !users.Any;

    /// <summary>Makes the token if none is out yet and no user exists; safe to call on every request.</summary>
    public async Task EnsureIssuedAsync(CancellationToken cancellationToken)
    {
        if (!IsNeeded || Volatile.Read(ref _hash) is not null)
        {
            return;
        }

        string token;
        lock (_gate)
        {
            if (_hash is not null)
            {
                return;
            }

            token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            _hash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        }

        try
        {
            await dataDirectory.WriteAtomicAsync(FileName, token + "\n", cancellationToken, UnixFileMode.UserRead | UnixFileMode.UserWrite).ConfigureAwait(false);
            LogIssued(logger, token, FilePath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DataDirectoryException)
        {
            LogIssuedNoFile(logger, token, FilePath, ex.Message);
        }
    }

    /// <summary>Makes the first admin when <paramref name="token"/> is the one issued; the token is spent.</summary>
    public PanelUser Redeem(string? token, string name, string password)
    {
        if (UserDirectory.ValidateNew(name, password, "admin") is { Count: > 0 } errors)
        {
            throw new Validation.ValidationFailedException(errors);
        }

        lock (_gate)
        {
            if (!IsNeeded)
            {
                throw new AccessRefusedException("The panel has users already: sign in instead.");
            }

            var given = SHA256.HashData(Encoding.UTF8.GetBytes((token ?? string.Empty).Trim()));
            if (_hash is null || !CryptographicOperations.FixedTimeEquals(given, _hash))
            {
                throw new Validation.ValidationFailedException([new Validation.FieldError("token", $"That is not the setup token: copy it from {FilePath} or from the panel's log.")]);
            }

            var admin = users.Create(name, password, AccessRole.Admin, signedIn: true);
            _hash = null;
            try
            {
                File.Delete(FilePath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The token is spent in memory whatever is left on disk.
            }

            return admin;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No user exists yet. Open the panel and create the admin with the setup token {Token} (also in {Path}, readable only by the panel's user).")]
    private static partial void LogIssued(ILogger logger, string token, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No user exists yet. Open the panel and create the admin with the setup token {Token} ({Path} could not be written: {Reason}).")]
    private static partial void LogIssuedNoFile(ILogger logger, string token, string path, string reason);
}
