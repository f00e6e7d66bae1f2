using Microsoft.Data.Sqlite;

namespace SparkControl.Core.Storage;

/// <summary>
/// Schema migrations, applied in order and recorded in <c>PRAGMA user_version</c>. A migration is never edited
/// after it ships: add a new one.
/// </summary>
internal static class Migrations
{
    private static readonly string[] Steps =
    [
        // 1: the audit log of operator actions and the status changes of every service.
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            detail TEXT NULL
        );
        CREATE TABLE service_status_changes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            spark TEXT NOT NULL,
            service TEXT NOT NULL,
            at TEXT NOT NULL,
            status TEXT NOT NULL,
            reason TEXT NOT NULL
        );
        CREATE INDEX ix_service_status_changes ON service_status_changes (spark, service, at);
        """,

        // 2: swap history with phase timings (the ETA comes from these) and what a failed swap left behind.
        """
        CREATE TABLE swaps (
            id TEXT PRIMARY KEY,
            target TEXT NOT NULL,
            sparks TEXT NOT NULL,
            model TEXT NULL,
            previous_model TEXT NULL,
            requester TEXT NOT NULL,
            phase TEXT NOT NULL,
            message TEXT NOT NULL,
            requested_at TEXT NOT NULL,
            ended_at TEXT NULL,
            rollback_of TEXT NULL,
            rolled_back_by TEXT NULL,
            exit_code INTEGER NULL,
            oom_killed INTEGER NOT NULL DEFAULT 0,
            failure TEXT NULL,
            log_lines TEXT NULL,
            command_line TEXT NULL
        );
        CREATE INDEX ix_swaps_requested ON swaps (requested_at);
        CREATE INDEX ix_swaps_model ON swaps (model, phase);
        CREATE TABLE swap_phases (
            swap_id TEXT NOT NULL REFERENCES swaps (id) ON DELETE CASCADE,
            phase TEXT NOT NULL,
            started_at TEXT NOT NULL,
            ended_at TEXT NULL,
            PRIMARY KEY (swap_id, phase)
        );
        """,

        // 3: the GPU busy ledger: seconds per state by Spark, model ('' for none) and bucket start (Unix seconds, UTC),
        // rolled up per minute, hour and day; and the last sample counted per Spark, so a restart never counts twice.
        """
        CREATE TABLE gpu_ledger_minute (
            spark TEXT NOT NULL, model TEXT NOT NULL, bucket INTEGER NOT NULL,
            busy REAL NOT NULL, loaded_idle REAL NOT NULL, loading REAL NOT NULL, no_model REAL NOT NULL, unknown REAL NOT NULL,
            PRIMARY KEY (bucket, spark, model)
        ) WITHOUT ROWID;
        CREATE TABLE gpu_ledger_hour (
            spark TEXT NOT NULL, model TEXT NOT NULL, bucket INTEGER NOT NULL,
            busy REAL NOT NULL, loaded_idle REAL NOT NULL, loading REAL NOT NULL, no_model REAL NOT NULL, unknown REAL NOT NULL,
            PRIMARY KEY (bucket, spark, model)
        ) WITHOUT ROWID;
        CREATE TABLE gpu_ledger_day (
            spark TEXT NOT NULL, model TEXT NOT NULL, bucket INTEGER NOT NULL,
            busy REAL NOT NULL, loaded_idle REAL NOT NULL, loading REAL NOT NULL, no_model REAL NOT NULL, unknown REAL NOT NULL,
            PRIMARY KEY (bucket, spark, model)
        ) WITHOUT ROWID;
        CREATE TABLE gpu_ledger_cursor (
            spark TEXT NOT NULL PRIMARY KEY,
            last_sample_ticks INTEGER NOT NULL
        );
        """,
    ];

    public static int Latest => Steps.Length;

    public static int Apply(SqliteConnection connection)
    {
        var current = ReadVersion(connection);
        for (var version = current; version < Steps.Length; version++)
        {
            using var transaction = connection.BeginTransaction();
            using (var command = connection.CreateCommand())
            {
                command.Transaction = transaction;
                command.CommandText = Steps[version];
                command.ExecuteNonQuery();
            }

            using (var setVersion = connection.CreateCommand())
            {
                setVersion.Transaction = transaction;
                // PRAGMA takes no parameters; the value is an integer we control.
                setVersion.CommandText = $"PRAGMA user_version = {version + 1};";
                setVersion.ExecuteNonQuery();
            }

            transaction.Commit();
        }

        return ReadVersion(connection);
    }

    private static int ReadVersion(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version;";
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
