using System.Globalization;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Audit;

/// <summary>One operator action: who did what to what, when, and how it ended.</summary>
public sealed record AuditEntry(long Id, DateTimeOffset At, string Actor, string Action, string Target, string? Detail);

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
    ];

    public bool IsAvailable => store.IsAvailable;

    /// <summary>Records an action; when it cannot be saved the action still happens, the failure is reported, and this returns false.</summary>
    public bool Record(string actor, string action, string target, string? detail = null) => store.TryWrite("the audit log", (connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($at, $actor, $action, $target, $detail);";
        command.Parameters.AddWithValue("$at", time.GetUtcNow().UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$actor", actor);
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
        command.CommandText = target is null
            ? "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $count;"
            : "SELECT id, at, actor, action, target, detail FROM audit_log WHERE target = $target ORDER BY id DESC LIMIT $count;";
        command.Parameters.AddWithValue("$count", count);
        if (target is not null)
        {
            command.Parameters.AddWithValue("$target", target);
        }

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
                reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return entries;
    }
}
