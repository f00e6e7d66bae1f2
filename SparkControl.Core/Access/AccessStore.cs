using System.Globalization;
using Microsoft.Data.Sqlite;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Access;

/// <summary>A person who signs in to the panel. The password hash never leaves the access layer.</summary>
public sealed record PanelUser(string Name, AccessRole Role, bool Disabled, DateTimeOffset CreatedAt)
{
    public int FailedAttempts { get; init; }

    public DateTimeOffset? LockedUntil { get; init; }

    public DateTimeOffset? LastSignInAt { get; init; }

    internal string PasswordHash { get; init; } = string.Empty;
}

public enum ApiKeyKind
{
    /// <summary>For <c>/api</c> and <c>/hubs</c>, with a role.</summary>
    Api,

    /// <summary>For the gateway's <c>/v1</c> only: a client program's key.</summary>
    Gateway,
}

/// <summary>An API key as listed: its secret is shown once at creation and only its hash is kept.</summary>
public sealed record ApiKeyInfo(long Id, string Name, ApiKeyKind Kind, AccessRole? Role, string Prefix, DateTimeOffset CreatedAt, string CreatedBy)
{
    public DateTimeOffset? LastUsedAt { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }

    public bool IsRevoked => RevokedAt is not null;

    internal string Hash { get; init; } = string.Empty;
}

/// <summary>Users and API keys in the SQLite store (schema version 4).</summary>
public sealed class AccessStore(SparkControlStore store)
{
    public static readonly IReadOnlyList<StoreMigration> Migrations =
    [
        new(4, "users and API keys", """
                CREATE TABLE users (
                    name TEXT PRIMARY KEY,
                    password_hash TEXT NOT NULL,
                    role TEXT NOT NULL,
                    disabled INTEGER NOT NULL DEFAULT 0,
                    failed_attempts INTEGER NOT NULL DEFAULT 0,
                    locked_until TEXT NULL,
                    created_at TEXT NOT NULL,
                    last_sign_in_at TEXT NULL
                );
                CREATE TABLE api_keys (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    role TEXT NULL,
                    prefix TEXT NOT NULL,
                    hash TEXT NOT NULL UNIQUE,
                    created_at TEXT NOT NULL,
                    created_by TEXT NOT NULL,
                    last_used_at TEXT NULL,
                    revoked_at TEXT NULL
                );
            """),
    ];

    public bool IsAvailable => store.IsAvailable;

    /// <summary>Why users cannot be kept, or null when they can.</summary>
    public string? UnavailableReason => store.UnavailableReason;

    public IReadOnlyList<PanelUser> LoadUsers()
    {
        if (!store.IsAvailable)
        {
            return [];
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, password_hash, role, disabled, failed_attempts, locked_until, created_at, last_sign_in_at FROM users ORDER BY name;";
        using var reader = command.ExecuteReader();
        var users = new List<PanelUser>();
        while (reader.Read())
        {
            users.Add(new PanelUser(reader.GetString(0), AccessRoles.Parse(reader.GetString(2)) ?? AccessRole.Viewer, reader.GetInt64(3) != 0, Time(reader, 6)!.Value)
            {
                PasswordHash = reader.GetString(1),
                FailedAttempts = (int)reader.GetInt64(4),
                LockedUntil = Time(reader, 5),
                LastSignInAt = Time(reader, 7),
            });
        }

        return users;
    }

    /// <summary>Inserts or replaces the user; false when the store cannot be written.</summary>
    public bool SaveUser(PanelUser user) => store.TryWrite("the user list", (connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO users (name, password_hash, role, disabled, failed_attempts, locked_until, created_at, last_sign_in_at)
            VALUES ($name, $hash, $role, $disabled, $failed, $locked, $created, $last)
            ON CONFLICT(name) DO UPDATE SET password_hash = $hash, role = $role, disabled = $disabled, failed_attempts = $failed,
                locked_until = $locked, last_sign_in_at = $last;
            """;
        command.Parameters.AddWithValue("$name", user.Name);
        command.Parameters.AddWithValue("$hash", user.PasswordHash);
        command.Parameters.AddWithValue("$role", user.Role.Name());
        command.Parameters.AddWithValue("$disabled", user.Disabled ? 1 : 0);
        command.Parameters.AddWithValue("$failed", user.FailedAttempts);
        command.Parameters.AddWithValue("$locked", Text(user.LockedUntil));
        command.Parameters.AddWithValue("$created", Text(user.CreatedAt));
        command.Parameters.AddWithValue("$last", Text(user.LastSignInAt));
        command.ExecuteNonQuery();
    });

    public IReadOnlyList<ApiKeyInfo> LoadKeys()
    {
        if (!store.IsAvailable)
        {
            return [];
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, name, kind, role, prefix, hash, created_at, created_by, last_used_at, revoked_at FROM api_keys ORDER BY id;";
        using var reader = command.ExecuteReader();
        var keys = new List<ApiKeyInfo>();
        while (reader.Read())
        {
            var kind = reader.GetString(2) == "gateway" ? ApiKeyKind.Gateway : ApiKeyKind.Api;
            keys.Add(new ApiKeyInfo(reader.GetInt64(0), reader.GetString(1), kind, reader.IsDBNull(3) ? null : AccessRoles.Parse(reader.GetString(3)), reader.GetString(4), Time(reader, 6)!.Value, reader.GetString(7))
            {
                Hash = reader.GetString(5),
                LastUsedAt = Time(reader, 8),
                RevokedAt = Time(reader, 9),
            });
        }

        return keys;
    }

    /// <summary>Stores a new key and returns it with its id; null when the store cannot be written.</summary>
    public ApiKeyInfo? AddKey(ApiKeyInfo key)
    {
        long id = 0;
        var saved = store.TryWrite("the API keys", (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO api_keys (name, kind, role, prefix, hash, created_at, created_by) VALUES ($name, $kind, $role, $prefix, $hash, $created, $by);
                SELECT last_insert_rowid();
                """;
            command.Parameters.AddWithValue("$name", key.Name);
            command.Parameters.AddWithValue("$kind", key.Kind == ApiKeyKind.Gateway ? "gateway" : "api");
            command.Parameters.AddWithValue("$role", (object?)key.Role?.Name() ?? DBNull.Value);
            command.Parameters.AddWithValue("$prefix", key.Prefix);
            command.Parameters.AddWithValue("$hash", key.Hash);
            command.Parameters.AddWithValue("$created", Text(key.CreatedAt));
            command.Parameters.AddWithValue("$by", key.CreatedBy);
            id = (long)command.ExecuteScalar()!;
        });
        return saved ? key with { Id = id } : null;
    }

    public bool UpdateKeyUse(long id, DateTimeOffset? lastUsed, DateTimeOffset? revoked) => store.TryWrite("the API keys", (connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "UPDATE api_keys SET last_used_at = $used, revoked_at = $revoked WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$used", Text(lastUsed));
        command.Parameters.AddWithValue("$revoked", Text(revoked));
        command.ExecuteNonQuery();
    });

    private static object Text(DateTimeOffset? at) => at is { } value ? value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) : DBNull.Value;

    private static DateTimeOffset? Time(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal)
        ? null
        : DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
