using System.Collections.Immutable;
using SparkControl.Core.Streams;

namespace SparkControl.Core.Remote;

/// <summary>Whether the panel can reach a Spark over SSH, and if not, why.</summary>
public enum ConnectionState
{
    Unknown,
    Connected,
    Unreachable,

    /// <summary>Repeated failures opened the circuit: calls fail fast until it is tried again.</summary>
    CircuitOpen,

    HostKeyNotApproved,
    HostKeyChanged,
    AuthenticationFailed,
}

public sealed record SparkConnection(string Spark, ConnectionState State, string? Error, DateTimeOffset Since, string? PendingFingerprint = null);

/// <summary>Every Spark's SSH reachability as a snapshot plus stream; the dashboard and Settings show it.</summary>
public sealed class ConnectivityTracker(TimeProvider time)
{
    private readonly SnapshotStream<ImmutableDictionary<string, SparkConnection>> _stream =
        new(ImmutableDictionary<string, SparkConnection>.Empty.WithComparers(StringComparer.OrdinalIgnoreCase), time);

    public ImmutableDictionary<string, SparkConnection> Current => _stream.Current.Value;

    public IAsyncEnumerable<Versioned<ImmutableDictionary<string, SparkConnection>>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    public SparkConnection? Find(string spark) => Current.GetValueOrDefault(spark);

    public void Report(string spark, ConnectionState state, string? error = null, string? pendingFingerprint = null) =>
        _stream.Publish(current =>
        {
            var before = current.GetValueOrDefault(spark);
            if (before is not null && before.State == state && before.Error == error && before.PendingFingerprint == pendingFingerprint)
            {
                return current;
            }

            var since = before?.State == state ? before.Since : time.GetUtcNow();
            return current.SetItem(spark, new SparkConnection(spark, state, error, since, pendingFingerprint));
        });

    public void Remove(string spark) => _stream.Publish(current => current.Remove(spark));
}
