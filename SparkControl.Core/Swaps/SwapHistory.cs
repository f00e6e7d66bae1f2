using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Storage;

namespace SparkControl.Core.Swaps;

/// <summary>A filter on the swap history; null fields match everything.</summary>
public sealed record SwapHistoryQuery(string? Model = null, string? Spark = null, SwapPhase? Outcome = null, int Limit = 500);

/// <summary>
/// Every swap in the SQLite store with its phase timings: written as it goes (so a restart finds what was in flight),
/// read for the history page and for ETAs.
/// </summary>
public sealed class SwapHistory(SparkControlStore store)
{
    /// <summary>Swap history with phase timings, which ETAs come from, and what a failed swap left behind (schema version 2).</summary>
    public static readonly IReadOnlyList<StoreMigration> Migrations =
    [
        new(2, "swap history", """
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
            """),
    ];

    /// <summary>How many of a model's past successful swaps its ETA is computed from.</summary>
    public const int EtaSample = 20;

    public bool IsAvailable => store.IsAvailable;

    public string? UnavailableReason => store.UnavailableReason;

    /// <summary>
    /// Writes the swap and its phases as they are now; the swap's row is replaced, phases are upserted. A write that
    /// cannot be saved is reported to the storage health and returns false: the swap itself goes on to its end.
    /// </summary>
    public bool Save(SwapStatus swap) => store.TryWrite("the swap history", (connection, transaction) => Write(connection, transaction, swap));

    private static void Write(SqliteConnection connection, SqliteTransaction transaction, SwapStatus swap)
    {
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO swaps (id, target, sparks, model, previous_model, requester, phase, message, requested_at, ended_at,
                                   rollback_of, rolled_back_by, exit_code, oom_killed, failure, log_lines, command_line)
                VALUES ($id, $target, $sparks, $model, $previous, $requester, $phase, $message, $requested, $ended,
                        $rollbackOf, $rolledBackBy, $exit, $oom, $failure, $logs, $command)
                ON CONFLICT (id) DO UPDATE SET phase = excluded.phase, message = excluded.message, ended_at = excluded.ended_at, previous_model = excluded.previous_model,
                    rolled_back_by = excluded.rolled_back_by, exit_code = excluded.exit_code, oom_killed = excluded.oom_killed,
                    failure = excluded.failure, log_lines = excluded.log_lines, command_line = excluded.command_line;
                """;
            var p = command.Parameters;
            p.AddWithValue("$id", swap.Id);
            p.AddWithValue("$target", swap.Target);
            p.AddWithValue("$sparks", string.Join(',', swap.Sparks));
            p.AddWithValue("$model", (object?)swap.ModelId ?? DBNull.Value);
            p.AddWithValue("$previous", (object?)swap.PreviousModelId ?? DBNull.Value);
            p.AddWithValue("$requester", swap.Requester);
            p.AddWithValue("$phase", swap.Phase.ToString());
            // What a Spark printed is masked once more before it is kept: a secret in the history would outlive its rotation.
            p.AddWithValue("$message", LogRedactor.Redact(swap.Message));
            p.AddWithValue("$requested", Time(swap.RequestedAt));
            p.AddWithValue("$ended", swap.EndedAt is { } ended ? Time(ended) : DBNull.Value);
            p.AddWithValue("$rollbackOf", (object?)swap.RollbackOf ?? DBNull.Value);
            p.AddWithValue("$rolledBackBy", (object?)swap.RolledBackBy ?? DBNull.Value);
            p.AddWithValue("$exit", (object?)swap.Failure?.ExitCode ?? DBNull.Value);
            p.AddWithValue("$oom", swap.Failure?.OomKilled == true ? 1 : 0);
            p.AddWithValue("$failure", swap.Failure?.Message is { } failureMessage ? LogRedactor.Redact(failureMessage) : DBNull.Value);
            var logs = swap.Failure is { LogLines.Count: > 0 } failure ? failure.LogLines : swap.PreviousLogs;
            p.AddWithValue("$logs", logs.Count > 0 ? JsonSerializer.Serialize(logs.Select(LogRedactor.Redact).ToArray()) : DBNull.Value);
            p.AddWithValue("$command", swap.CommandLine is { } commandLine ? LogRedactor.Redact(commandLine) : DBNull.Value);
            command.ExecuteNonQuery();
        }

        foreach (var phase in swap.Phases)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO swap_phases (swap_id, phase, started_at, ended_at) VALUES ($id, $phase, $started, $ended)
                ON CONFLICT (swap_id, phase) DO UPDATE SET ended_at = excluded.ended_at;
                """;
            command.Parameters.AddWithValue("$id", swap.Id);
            command.Parameters.AddWithValue("$phase", phase.Phase.ToString());
            command.Parameters.AddWithValue("$started", Time(phase.StartedAt));
            command.Parameters.AddWithValue("$ended", phase.EndedAt is { } ended ? Time(ended) : DBNull.Value);
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Past swaps, newest first.</summary>
    public IReadOnlyList<SwapStatus> Query(SwapHistoryQuery query)
    {
        if (!store.IsAvailable)
        {
            return [];
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, target, sparks, model, previous_model, requester, phase, message, requested_at, ended_at,
                   rollback_of, rolled_back_by, exit_code, oom_killed, failure, log_lines, command_line
            FROM swaps
            WHERE ($model IS NULL OR model = $model)
              AND ($spark IS NULL OR ',' || sparks || ',' LIKE '%,' || $spark || ',%')
              AND ($phase IS NULL OR phase = $phase)
            ORDER BY requested_at DESC LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$model", (object?)query.Model ?? DBNull.Value);
        command.Parameters.AddWithValue("$spark", (object?)query.Spark ?? DBNull.Value);
        command.Parameters.AddWithValue("$phase", (object?)query.Outcome?.ToString() ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", Math.Clamp(query.Limit, 1, 10_000));
        var swaps = ReadSwaps(command);
        return [.. swaps.Select(s => s with { Phases = [.. ReadPhases(connection, s.Id)] })];
    }

    public SwapStatus? Find(string id)
    {
        if (!store.IsAvailable)
        {
            return null;
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, target, sparks, model, previous_model, requester, phase, message, requested_at, ended_at,
                   rollback_of, rolled_back_by, exit_code, oom_killed, failure, log_lines, command_line
            FROM swaps WHERE id = $id;
            """;
        command.Parameters.AddWithValue("$id", id);
        var swap = ReadSwaps(command).SingleOrDefault();
        return swap is null ? null : swap with { Phases = [.. ReadPhases(connection, swap.Id)] };
    }

    /// <summary>Swaps whose row says they were still running: the app stopped in the middle of them.</summary>
    public IReadOnlyList<SwapStatus> Unfinished()
    {
        if (!store.IsAvailable)
        {
            return [];
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, target, sparks, model, previous_model, requester, phase, message, requested_at, ended_at,
                   rollback_of, rolled_back_by, exit_code, oom_killed, failure, log_lines, command_line
            FROM swaps WHERE ended_at IS NULL ORDER BY requested_at;
            """;
        var swaps = ReadSwaps(command);
        return [.. swaps.Select(s => s with { Phases = [.. ReadPhases(connection, s.Id)] })];
    }

    /// <summary>
    /// The median duration of each phase over this model's last <see cref="EtaSample"/> swaps that reached Ready;
    /// empty when it has none.
    /// </summary>
    public IReadOnlyDictionary<SwapPhase, TimeSpan> MedianPhaseDurations(string model)
    {
        if (!store.IsAvailable)
        {
            return new Dictionary<SwapPhase, TimeSpan>();
        }

        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT p.phase, p.started_at, p.ended_at FROM swap_phases p
            JOIN (SELECT id FROM swaps WHERE model = $model AND phase = 'Ready' ORDER BY requested_at DESC LIMIT $sample) s ON s.id = p.swap_id
            WHERE p.ended_at IS NOT NULL;
            """;
        command.Parameters.AddWithValue("$model", model);
        command.Parameters.AddWithValue("$sample", EtaSample);
        var durations = new Dictionary<SwapPhase, List<TimeSpan>>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (Enum.TryParse<SwapPhase>(reader.GetString(0), out var phase))
            {
                var duration = Parse(reader.GetString(2)) - Parse(reader.GetString(1));
                (durations.TryGetValue(phase, out var list) ? list : durations[phase] = []).Add(duration);
            }
        }

        return durations.ToDictionary(d => d.Key, d => Median(d.Value));
    }

    private static TimeSpan Median(List<TimeSpan> values)
    {
        values.Sort();
        var middle = values.Count / 2;
        return values.Count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
    }

    private static List<SwapStatus> ReadSwaps(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var swaps = new List<SwapStatus>();
        while (reader.Read())
        {
            string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
            var logs = Text(15) is { } json ? JsonSerializer.Deserialize<string[]>(json) ?? [] : [];
            var phase = Enum.TryParse<SwapPhase>(reader.GetString(6), out var p) ? p : SwapPhase.Interrupted;
            var failure = Text(14) is { } message
                ? new SwapFailure(message, reader.IsDBNull(12) ? null : reader.GetInt32(12), reader.GetInt32(13) == 1) { LogLines = [.. logs] }
                : null;
            swaps.Add(new SwapStatus
            {
                Id = reader.GetString(0),
                Target = reader.GetString(1),
                Sparks = [.. reader.GetString(2).Split(',', StringSplitOptions.RemoveEmptyEntries)],
                ModelId = Text(3),
                PreviousModelId = Text(4),
                Requester = reader.GetString(5),
                Phase = phase,
                Message = reader.GetString(7),
                RequestedAt = Parse(reader.GetString(8)),
                EndedAt = Text(9) is { } ended ? Parse(ended) : null,
                RollbackOf = Text(10),
                RolledBackBy = Text(11),
                Failure = failure,
                PreviousLogs = failure is null ? [.. logs] : [],
                CommandLine = Text(16),
                Progress = phase == SwapPhase.Ready ? 1 : 0,
            });
        }

        return swaps;
    }

    private static List<PhaseTiming> ReadPhases(SqliteConnection connection, string id)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT phase, started_at, ended_at FROM swap_phases WHERE swap_id = $id ORDER BY rowid;";
        command.Parameters.AddWithValue("$id", id);
        using var reader = command.ExecuteReader();
        var phases = new List<PhaseTiming>();
        while (reader.Read())
        {
            if (Enum.TryParse<SwapPhase>(reader.GetString(0), out var phase))
            {
                phases.Add(new PhaseTiming(phase, Parse(reader.GetString(1)), reader.IsDBNull(2) ? null : Parse(reader.GetString(2))));
            }
        }

        return phases;
    }

    private static string Time(DateTimeOffset value) => value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset Parse(string value) => DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
