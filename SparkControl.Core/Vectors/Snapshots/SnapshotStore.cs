using System.Globalization;
using System.Text.Json;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Vectors.Snapshots;

/// <summary>Qdrant snapshot schedules and runs in the SQLite store (schema version 8).</summary>
public sealed class SnapshotStore(SparkControlStore store)
{
    /// <summary>Runs kept per service; older ones whose file is gone are forgotten.</summary>
    public const int KeptRuns = 500;

    public static readonly IReadOnlyList<StoreMigration> Migrations =
    [
        new(8, "qdrant snapshots", """
                CREATE TABLE qdrant_snapshot_schedules (
                    service TEXT PRIMARY KEY,
                    schedule TEXT NOT NULL
                );
                CREATE TABLE qdrant_snapshot_runs (
                    id INTEGER PRIMARY KEY,
                    service TEXT NOT NULL,
                    collection TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    record TEXT NOT NULL
                );
                CREATE INDEX qdrant_snapshot_runs_service ON qdrant_snapshot_runs (service, id);
            """),
    ];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public IReadOnlyDictionary<string, SnapshotSchedule> Schedules()
    {
        var schedules = new Dictionary<string, SnapshotSchedule>(StringComparer.Ordinal);
        if (!store.IsAvailable)
        {
            return schedules;
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT service, schedule FROM qdrant_snapshot_schedules;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            schedules[reader.GetString(0)] = JsonSerializer.Deserialize<SnapshotSchedule>(reader.GetString(1), Json) ?? SnapshotSchedule.Off;
        }

        return schedules;
    }

    public void SaveSchedule(string service, SnapshotSchedule schedule)
    {
        if (!store.TryWrite("the snapshot schedule", (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT OR REPLACE INTO qdrant_snapshot_schedules (service, schedule) VALUES ($service, $schedule);";
            command.Parameters.AddWithValue("$service", service);
            command.Parameters.AddWithValue("$schedule", JsonSerializer.Serialize(schedule, Json));
            command.ExecuteNonQuery();
        }))
        {
            throw new StoreUnavailableException(store.UnavailableReason ?? "the database cannot be written");
        }
    }

    public IReadOnlyList<SnapshotRecord> Runs(string service) =>
        [.. Read("SELECT record FROM qdrant_snapshot_runs WHERE service = $service ORDER BY id DESC;", service)];

    /// <summary>The newest run of each service's collection that is not still running.</summary>
    public IReadOnlyList<SnapshotRecord> LastEnded() =>
        [.. Read("SELECT record FROM qdrant_snapshot_runs ORDER BY id DESC;").Where(r => r.Status != SnapshotRunStatus.Running)
            .DistinctBy(r => (r.Service, r.Collection))];

    /// <summary>The runs recorded as running (after a restart: those the stopped panel did not finish).</summary>
    public IReadOnlyList<SnapshotRecord> Unfinished() =>
        [.. Read("SELECT record FROM qdrant_snapshot_runs WHERE json_extract(record, '$.endedAt') IS NULL;").Where(r => r.Status == SnapshotRunStatus.Running)];

    /// <summary>The runs <paramref name="sql"/> selects (its one column the record), none when the store is unavailable.</summary>
    private List<SnapshotRecord> Read(string sql, string? service = null)
    {
        var runs = new List<SnapshotRecord>();
        if (!store.IsAvailable)
        {
            return runs;
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (service is not null)
        {
            command.Parameters.AddWithValue("$service", service);
        }

        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (JsonSerializer.Deserialize<SnapshotRecord>(reader.GetString(0), Json) is { } run)
            {
                runs.Add(run);
            }
        }

        return runs;
    }

    public long NextId()
    {
        if (!store.IsAvailable)
        {
            return 1;
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(id), 0) + 1 FROM qdrant_snapshot_runs;";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Inserts or replaces the run; false when the store cannot be written (the run stays in memory).</summary>
    public bool Save(SnapshotRecord run) => store.TryWrite("the snapshot history", (connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT OR REPLACE INTO qdrant_snapshot_runs (id, service, collection, started_at, record) VALUES ($id, $service, $collection, $started, $record);
            DELETE FROM qdrant_snapshot_runs WHERE service = $service AND id <= (SELECT MAX(id) FROM qdrant_snapshot_runs WHERE service = $service) - $kept
                AND json_extract(record, '$.deletedAt') IS NOT NULL;
            """;
        command.Parameters.AddWithValue("$id", run.Id);
        command.Parameters.AddWithValue("$service", run.Service);
        command.Parameters.AddWithValue("$collection", run.Collection);
        command.Parameters.AddWithValue("$started", run.StartedAt.ToString("O", CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(run, Json));
        command.Parameters.AddWithValue("$kept", KeptRuns);
        command.ExecuteNonQuery();
    });
}
