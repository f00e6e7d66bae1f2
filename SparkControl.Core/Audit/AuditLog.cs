using System.Globalization;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Audit;

/// <summary>One operator action: who did what to what, when, from where, and how it ended.</summary>
public sealed record AuditEntry(long Id, DateTimeOffset At, string Actor, string Action, string Target, string? Detail)
{
    public string? Address { get; init; }
}

/// <summary>Which entries to read: each filter a substring (case-insensitive) or a time bound; null matches all.</summary>
public sealed record AuditQuery
{
    public string? Actor { get; init; }
    public string? Action { get; init; }
    public string? Target { get; init; }
    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }
    public int Limit { get; init; } = 500;
}

/// <summary>The audit log of operator actions (stop, restart, limits, host actions, swaps), in the SQLite store.</summary>
public sealed class AuditLog(SparkControlStore store, TimeProvider time)
{
    /// <summary>The audit log's table (schema version 1).</summary>
    public static readonly IReadOnlyList<StoreMigration> Migrations =
    [
        new(1, "audit log", """
                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at TEXT NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    target TEXT NOT NULL,
                    detail TEXT NULL
                );
            """),
        new(5, "audit log: the caller's address", "ALTER TABLE audit_log ADD COLUMN address TEXT NULL;"),
    ];

    public bool IsAvailable => store.IsAvailable;

    /// <summary>Records an action; when it cannot be saved the action still happens, the failure is reported, and this returns false.</summary>
    public bool Record(AuditActor actor, string action, string target, string? detail = null) => store.TryWrite("the audit log", (connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO audit_log (at, actor, action, target, detail, address) VALUES ($at, $actor, $action, $target, $detail, $address);";
        command.Parameters.AddWithValue("$at", time.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$actor", actor.Name);
        command.Parameters.AddWithValue("$address", (object?)actor.Address ?? DBNull.Value);
        command.Parameters.AddWithValue("$action", action);
        command.Parameters.AddWithValue("$target", target);
        command.Parameters.AddWithValue("$detail", (object?)detail ?? DBNull.Value);
        command.ExecuteNonQuery();
    });

    /// <summary>The newest entries first, optionally only those about <paramref name="target"/>.</summary>
    public IReadOnlyList<AuditEntry> Recent(int count, string? target = null)
    {
        if (!store.IsAvailable)
        {
            return [];
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM audit_log {(target is null ? string.Empty : "WHERE target = $target ")}ORDER BY id DESC LIMIT $count;";
        command.Parameters.AddWithValue("$count", count);
        if (target is not null)
        {
            command.Parameters.AddWithValue("$target", target);
        }

        return Read(command);
    }

    /// <summary>The newest entries first that match every filter of <paramref name="query"/>.</summary>
    public IReadOnlyList<AuditEntry> Find(AuditQuery query)
    {
        if (!store.IsAvailable)
        {
            return [];
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        var where = new List<string>();
        void Contains(string column, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                where.Add($"instr(lower({column}), lower(${column})) > 0");
                command.Parameters.AddWithValue($"${column}", value);
            }
        }

        Contains("actor", query.Actor);
        Contains("action", query.Action);
        Contains("target", query.Target);
        if (query.Since is { } since)
        {
            where.Add("at >= $since");
            command.Parameters.AddWithValue("$since", since.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        }

        if (query.Until is { } until)
        {
            where.Add("at < $until");
            command.Parameters.AddWithValue("$until", until.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        }

        command.CommandText = $"SELECT {Columns} FROM audit_log {(where.Count == 0 ? string.Empty : "WHERE " + string.Join(" AND ", where))} ORDER BY id DESC LIMIT $limit;";
        command.Parameters.AddWithValue("$limit", Math.Clamp(query.Limit, 1, 10_000));
        return Read(command);
    }

    /// <summary>
    /// The newest entry of each action about <paramref name="target"/> whose name starts with
    /// <paramref name="actionPrefix"/> (e.g. <c>host.</c>), optionally only entries whose detail is <paramref name="detail"/>.
    /// </summary>
    public IReadOnlyList<AuditEntry> LatestPerAction(string target, string actionPrefix, string? detail = null)
    {
        if (!store.IsAvailable)
        {
            return [];
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        // substr, not LIKE: an action name's '_' must not match any character.
        var filter = "target = $target AND substr(action, 1, length($prefix)) = $prefix" + (detail is null ? string.Empty : " AND detail = $detail");
        command.CommandText = $"SELECT {Columns} FROM audit_log WHERE id IN (SELECT MAX(id) FROM audit_log WHERE {filter} GROUP BY action) ORDER BY id DESC;";
        command.Parameters.AddWithValue("$target", target);
        command.Parameters.AddWithValue("$prefix", actionPrefix);
        if (detail is not null)
        {
            command.Parameters.AddWithValue("$detail", detail);
        }

        return Read(command);
    }

    private const string Columns = "id, at, actor, action, target, detail, address";

    private static List<AuditEntry> Read(Microsoft.Data.Sqlite.SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var entries = new List<AuditEntry>();
        while (reader.Read())
        {
            entries.Add(new AuditEntry(
                reader.GetInt64(0),
                DateTimeOffset.Parse(reader.GetString(1), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetString(5))
            {
                Address = reader.IsDBNull(6) ? null : reader.GetString(6),
            });
        }

        return entries;
    }
}
