using System.Globalization;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Services;

/// <summary>One recorded status change of a service.</summary>
public sealed record ServiceStatusChange(string Spark, string Service, DateTimeOffset At, HealthStatus Status, string Reason);

/// <summary>Status changes of services in the store, for timelines.</summary>
public sealed class ServiceStatusLog(SparkControlStore store)
{
    /// <summary>The status changes of every service (schema version 1).</summary>
    public static readonly IReadOnlyList<StoreMigration> Migrations =
    [
        new(1, "service status log", """
                CREATE TABLE service_status_changes (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    spark TEXT NOT NULL,
                    service TEXT NOT NULL,
                    at TEXT NOT NULL,
                    status TEXT NOT NULL,
                    reason TEXT NOT NULL
                );
                CREATE INDEX ix_service_status_changes ON service_status_changes (spark, service, at);
            """),
    ];

    public bool IsAvailable => store.IsAvailable;

    /// <summary>Saves a change; false (and reported) when it cannot be saved.</summary>
    public bool Append(ServiceStatusChange change) => store.TryWrite("service status changes", (connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO service_status_changes (spark, service, at, status, reason) VALUES ($spark, $service, $at, $status, $reason);";
        command.Parameters.AddWithValue("$spark", change.Spark);
        command.Parameters.AddWithValue("$service", change.Service);
        command.Parameters.AddWithValue("$at", change.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$status", change.Status.ToString());
        command.Parameters.AddWithValue("$reason", change.Reason);
        command.ExecuteNonQuery();
    });

    /// <summary>Changes of one service since <paramref name="since"/>, oldest first, plus the last change before it (the state at the start).</summary>
    public IReadOnlyList<ServiceStatusChange> Read(string spark, string service, DateTimeOffset since)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT spark, service, at, status, reason FROM (
                SELECT * FROM (SELECT * FROM service_status_changes WHERE spark = $spark AND service = $service AND at < $since ORDER BY at DESC LIMIT 1)
                UNION ALL
                SELECT * FROM service_status_changes WHERE spark = $spark AND service = $service AND at >= $since
            ) ORDER BY at;
            """;
        command.Parameters.AddWithValue("$spark", spark);
        command.Parameters.AddWithValue("$service", service);
        command.Parameters.AddWithValue("$since", since.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        using var reader = command.ExecuteReader();
        var changes = new List<ServiceStatusChange>();
        while (reader.Read())
        {
            changes.Add(new ServiceStatusChange(
                reader.GetString(0),
                reader.GetString(1),
                DateTimeOffset.Parse(reader.GetString(2), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                Enum.Parse<HealthStatus>(reader.GetString(3)),
                reader.GetString(4)));
        }

        return changes;
    }
}
