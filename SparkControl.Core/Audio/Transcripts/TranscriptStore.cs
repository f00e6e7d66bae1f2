using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Data.Sqlite;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Audio.Transcripts;

/// <summary>Transcription jobs in the SQLite store (schema version 7), with their settings and finished transcripts.</summary>
public sealed class TranscriptStore(SparkControlStore store)
{
    public static readonly IReadOnlyList<StoreMigration> Migrations =
    [
        new(7, "transcripts", """
                CREATE TABLE transcripts (
                    id TEXT PRIMARY KEY,
                    seq INTEGER NOT NULL,
                    owner TEXT NOT NULL,
                    created_at TEXT NOT NULL,
                    status TEXT NOT NULL,
                    phase TEXT NOT NULL,
                    progress REAL NOT NULL,
                    detail TEXT NULL,
                    error TEXT NULL,
                    started_at TEXT NULL,
                    ended_at TEXT NULL,
                    resumes INTEGER NOT NULL DEFAULT 0,
                    audio TEXT NOT NULL,
                    settings TEXT NOT NULL,
                    result TEXT NULL
                );
                CREATE INDEX transcripts_owner ON transcripts (owner, seq);
            """),
    ];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private long _seq;

    /// <summary>Every kept job, newest first.</summary>
    public IReadOnlyList<TranscriptJob> Load()
    {
        if (!store.IsAvailable)
        {
            return [];
        }

        var jobs = new List<TranscriptJob>();
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, owner, created_at, status, phase, progress, detail, error, started_at, ended_at, resumes, audio, settings, result, seq FROM transcripts ORDER BY seq DESC;";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            jobs.Add(Read(reader));
            _seq = Math.Max(_seq, reader.GetInt64(14));
        }

        return jobs;
    }

    /// <summary>Inserts or replaces the job, keeping <paramref name="kept"/> finished ones; false when the store cannot be written.</summary>
    public bool Save(TranscriptJob job, int kept) => store.TryWrite("the transcript jobs", (connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            INSERT INTO transcripts (id, seq, owner, created_at, status, phase, progress, detail, error, started_at, ended_at, resumes, audio, settings, result)
            VALUES ($id, $seq, $owner, $created, $status, $phase, $progress, $detail, $error, $started, $ended, $resumes, $audio, $settings, $result)
            ON CONFLICT (id) DO UPDATE SET status = $status, phase = $phase, progress = $progress, detail = $detail, error = $error,
                started_at = $started, ended_at = $ended, resumes = $resumes, result = $result;
            DELETE FROM transcripts WHERE status IN ('Done', 'Failed', 'Cancelled', 'Interrupted')
                AND seq NOT IN (SELECT seq FROM transcripts WHERE status IN ('Done', 'Failed', 'Cancelled', 'Interrupted') ORDER BY seq DESC LIMIT $kept);
            """;
        command.Parameters.AddWithValue("$id", job.Id);
        command.Parameters.AddWithValue("$seq", Interlocked.Increment(ref _seq));
        command.Parameters.AddWithValue("$owner", job.Owner);
        command.Parameters.AddWithValue("$created", Text(job.CreatedAt));
        command.Parameters.AddWithValue("$status", job.Status.ToString());
        command.Parameters.AddWithValue("$phase", job.Phase.ToString());
        command.Parameters.AddWithValue("$progress", job.Progress);
        command.Parameters.AddWithValue("$detail", (object?)job.Detail ?? DBNull.Value);
        command.Parameters.AddWithValue("$error", (object?)job.Error ?? DBNull.Value);
        command.Parameters.AddWithValue("$started", (object?)Text(job.StartedAt) ?? DBNull.Value);
        command.Parameters.AddWithValue("$ended", (object?)Text(job.EndedAt) ?? DBNull.Value);
        command.Parameters.AddWithValue("$resumes", job.Resumes);
        command.Parameters.AddWithValue("$audio", JsonSerializer.Serialize(job.Audio, Json));
        command.Parameters.AddWithValue("$settings", JsonSerializer.Serialize(job.Settings, Json));
        command.Parameters.AddWithValue("$result", job.Result is null ? DBNull.Value : JsonSerializer.Serialize(job.Result, Json));
        command.Parameters.AddWithValue("$kept", kept);
        command.ExecuteNonQuery();
    });

    /// <summary>Removes a job; false when the store cannot be written.</summary>
    public bool Delete(string id) => store.TryWrite("the transcript jobs", (connection, transaction) =>
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM transcripts WHERE id = $id;";
        command.Parameters.AddWithValue("$id", id);
        command.ExecuteNonQuery();
    });

    /// <summary>The transcript as the store writes it (also what a round trip through the store must give back).</summary>
    public static string Serialize(TranscriptResult result) => JsonSerializer.Serialize(result, Json);

    public static TranscriptResult? Deserialize(string json) => JsonSerializer.Deserialize<TranscriptResult>(json, Json);

    private static TranscriptJob Read(SqliteDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1),
            JsonSerializer.Deserialize<TranscriptAudio>(reader.GetString(11), Json)!,
            JsonSerializer.Deserialize<TranscriptSettings>(reader.GetString(12), Json) ?? new TranscriptSettings(),
            Time(reader, 2)!.Value)
        {
            Status = Enum.TryParse<TranscriptStatus>(reader.GetString(3), out var status) ? status : TranscriptStatus.Interrupted,
            Phase = Enum.TryParse<TranscriptPhase>(reader.GetString(4), out var phase) ? phase : TranscriptPhase.Upload,
            Progress = reader.GetDouble(5),
            Detail = reader.IsDBNull(6) ? null : reader.GetString(6),
            Error = reader.IsDBNull(7) ? null : reader.GetString(7),
            StartedAt = Time(reader, 8),
            EndedAt = Time(reader, 9),
            Resumes = reader.GetInt32(10),
            Result = reader.IsDBNull(13) ? null : Deserialize(reader.GetString(13)),
        };

    private static string? Text(DateTimeOffset? time) => time?.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset? Time(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : DateTimeOffset.Parse(reader.GetString(ordinal), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
