using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Access;

/// <summary>A new key: its secret, shown once, and what is kept of it.</summary>
public sealed record CreatedApiKey(string Secret, ApiKeyInfo Info);

/// <summary>
/// API keys: random 256-bit secrets (<c>sck_…</c>), kept only as their SHA-256 (a secret that long needs no slow hash),
/// looked up in memory on every request. Last use is kept in memory at once and written to the store at most once a minute per key.
/// </summary>
public sealed class ApiKeyRegistry
{
    public const string SecretPrefix = "sck_";
    private static readonly TimeSpan UseWriteInterval = TimeSpan.FromMinutes(1);

    private readonly AccessStore _store;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<long, DateTimeOffset> _lastUse = new();
    private readonly ConcurrentDictionary<long, DateTimeOffset> _lastWritten = new();
    private ImmutableDictionary<string, ApiKeyInfo> _byHash;

    public ApiKeyRegistry(AccessStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
        _byHash = store.LoadKeys().ToImmutableDictionary(k => k.Hash, StringComparer.Ordinal);
    }

    /// <summary>Raised after a key is revoked: open sessions made with it re-check themselves.</summary>
    public event Action<long>? Revoked;

    public IReadOnlyList<ApiKeyInfo> List() =>
        [.. _byHash.Values.OrderBy(k => k.Id).Select(k => _lastUse.TryGetValue(k.Id, out var used) ? k with { LastUsedAt = used } : k)];

    public ApiKeyInfo? Find(long id) => _byHash.Values.FirstOrDefault(k => k.Id == id);

    public static List<FieldError> Validate(string? name, string? kind, string? role)
    {
        var errors = new List<FieldError>();
        if (Validators.Name(name, "name") is { } nameError)
        {
            errors.Add(new FieldError("name", nameError));
        }

        if (kind is not ("api" or "gateway"))
        {
            errors.Add(new FieldError("kind", "kind must be api (for /api and /hubs, with a role) or gateway (a client key for /v1)"));
        }
        else if (kind == "api" && AccessRoles.Validate(role) is { } roleError)
        {
            errors.Add(new FieldError("role", roleError));
        }

        return errors;
    }

    public CreatedApiKey Create(string name, ApiKeyKind kind, AccessRole? role, string createdBy)
    {
        if (Validate(name, kind == ApiKeyKind.Gateway ? "gateway" : "api", role?.Name()) is { Count: > 0 } errors)
        {
            throw new ValidationFailedException(errors);
        }

        var secret = SecretPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var info = new ApiKeyInfo(0, name, kind, kind == ApiKeyKind.Gateway ? null : role, secret[..(SecretPrefix.Length + 6)], _time.GetUtcNow(), createdBy) { Hash = HashOf(secret) };
        lock (_gate)
        {
            var saved = _store.AddKey(info) ?? throw new AccessRefusedException($"The key cannot be saved: {_store.UnavailableReason ?? "the data directory cannot be written"}.");
            _byHash = _byHash.SetItem(saved.Hash, saved);
            return new CreatedApiKey(secret, saved);
        }
    }

    /// <summary>The live key whose secret this is, recording its use; null for an unknown or revoked key.</summary>
    public ApiKeyInfo? Verify(string? secret)
    {
        if (string.IsNullOrEmpty(secret) || !secret.StartsWith(SecretPrefix, StringComparison.Ordinal) || secret.Length > 128)
        {
            return null;
        }

        if (!_byHash.TryGetValue(HashOf(secret), out var key) || key.IsRevoked)
        {
            return null;
        }

        var now = _time.GetUtcNow();
        _lastUse[key.Id] = now;
        if (!_lastWritten.TryGetValue(key.Id, out var written) || now - written >= UseWriteInterval)
        {
            _lastWritten[key.Id] = now;
            _store.UpdateKeyUse(key.Id, now, null);
        }

        return key;
    }

    public ApiKeyInfo Revoke(long id)
    {
        lock (_gate)
        {
            var key = Find(id) ?? throw new KeyNotFoundException($"No API key has the id {id}.");
            if (key.IsRevoked)
            {
                return key;
            }

            var revoked = key with { RevokedAt = _time.GetUtcNow(), LastUsedAt = _lastUse.TryGetValue(id, out var used) ? used : key.LastUsedAt };
            if (!_store.UpdateKeyUse(id, revoked.LastUsedAt, revoked.RevokedAt))
            {
                throw new AccessRefusedException($"The revocation cannot be saved: {_store.UnavailableReason ?? "the data directory cannot be written"}.");
            }

            _byHash = _byHash.SetItem(revoked.Hash, revoked);
            Revoked?.Invoke(id);
            return revoked;
        }
    }

    private static string HashOf(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
