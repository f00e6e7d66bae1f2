using Microsoft.Data.Sqlite;

namespace SparkControl.Core.History;

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
