using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Audio.Sweep;

/// <summary>Concurrency sweeps in the SQLite store (schema version 6), kept with their figures.</summary>
public sealed class SweepStore(SparkControlStore store)
{
    /// <summary>Runs kept; older ones go when a new one is saved.</summary>
    public const int Kept = 100;

    public static readonly IReadOnlyList<StoreMigration> Migrations =
    [
        new(6, "audio sweeps", """
                CREATE TABLE audio_sweeps (
                    id INTEGER PRIMARY KEY,
                    spark TEXT NOT NULL,
                    service TEXT NOT NULL,
                    model TEXT NOT NULL,
                    settings TEXT NOT NULL,
                    files TEXT NOT NULL,
                    started_at TEXT NOT NULL,
                    started_by TEXT NOT NULL,
                    status TEXT NOT NULL,
                    ended_at TEXT NULL,
                    steps TEXT NOT NULL,
                    knee INTEGER NULL,
                    stop_reason TEXT NULL,
                    error TEXT NULL,
                    applied_at TEXT NULL,
                    gateway_requests INTEGER NOT NULL DEFAULT 0
                );
            """),
    ];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Every kept run; one the panel was running when it stopped becomes Interrupted (in the store too).</summary>
    public IReadOnlyList<SweepRun> LoadAndMarkInterrupted()
    {
        if (!store.IsAvailable)
        {
            return [];
        }

        var runs = new List<SweepRun>();
        using (var connection = store.Open())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT id, spark, service, model, settings, files, started_at, started_by, status, ended_at, steps, knee, stop_reason, error, applied_at, gateway_requests FROM audio_sweeps ORDER BY id DESC;";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                runs.Add(Read(reader));
            }
        }

        foreach (var interrupted in runs.Where(r => r.Status == SweepStatus.Running).ToList())
        {
            var marked = interrupted with { Status = SweepStatus.Interrupted, StopReason = "the panel stopped while the sweep ran" };
            runs[runs.IndexOf(interrupted)] = marked;
            Save(marked);
        }

        return runs;
    }

    /// <summary>Inserts or replaces the run; false when the store cannot be written (the run stays in memory).</summary>
    public bool Save(SweepRun run) => store.TryWrite("the sweep history", (connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT OR REPLACE INTO audio_sweeps (id, spark, service, model, settings, files, started_at, started_by, status, ended_at, steps, knee, stop_reason, error, applied_at, gateway_requests)
            VALUES ($id, $spark, $service, $model, $settings, $files, $started, $by, $status, $ended, $steps, $knee, $reason, $error, $applied, $gateway);
            DELETE FROM audio_sweeps WHERE id <= (SELECT MAX(id) FROM audio_sweeps) - $kept;
            """;
        command.Parameters.AddWithValue("$id", run.Id);
        command.Parameters.AddWithValue("$spark", run.Spark);
        command.Parameters.AddWithValue("$service", run.Service);
        command.Parameters.AddWithValue("$model", run.Model);
        command.Parameters.AddWithValue("$settings", JsonSerializer.Serialize(run.Settings, Json));
        command.Parameters.AddWithValue("$files", JsonSerializer.Serialize(run.Files, Json));
        command.Parameters.AddWithValue("$started", Text(run.StartedAt));
        command.Parameters.AddWithValue("$by", run.StartedBy);
        command.Parameters.AddWithValue("$status", run.Status.ToString());
        command.Parameters.AddWithValue("$ended", (object?)Text(run.EndedAt) ?? DBNull.Value);
        command.Parameters.AddWithValue("$steps", JsonSerializer.Serialize(run.Steps, Json));
        command.Parameters.AddWithValue("$knee", (object?)run.Knee ?? DBNull.Value);
        command.Parameters.AddWithValue("$reason", (object?)run.StopReason ?? DBNull.Value);
        command.Parameters.AddWithValue("$error", (object?)run.Error ?? DBNull.Value);
        command.Parameters.AddWithValue("$applied", (object?)Text(run.AppliedAt) ?? DBNull.Value);
        command.Parameters.AddWithValue("$gateway", run.GatewayRequestsDuring);
        command.Parameters.AddWithValue("$kept", Kept);
        command.ExecuteNonQuery();
    });

    private static SweepRun Read(SqliteDataReader reader) =>
        new(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
            JsonSerializer.Deserialize<SweepSettings>(reader.GetString(4), Json) ?? new SweepSettings(),
            JsonSerializer.Deserialize<ImmutableArray<string>>(reader.GetString(5), Json), Time(reader, 6)!.Value, reader.GetString(7))
        {
            Status = Enum.TryParse<SweepStatus>(reader.GetString(8), out var status) ? status : SweepStatus.Interrupted,
            EndedAt = Time(reader, 9),
            Steps = JsonSerializer.Deserialize<ImmutableArray<SweepStep>>(reader.GetString(10), Json),
            Knee = reader.IsDBNull(11) ? null : (int)reader.GetInt64(11),
            StopReason = reader.IsDBNull(12) ? null : reader.GetString(12),
            Error = reader.IsDBNull(13) ? null : reader.GetString(13),
            AppliedAt = Time(reader, 14),
            GatewayRequestsDuring = reader.GetInt64(15),
        };

    private static string? Text(DateTimeOffset? time) => time?.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset? Time(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
