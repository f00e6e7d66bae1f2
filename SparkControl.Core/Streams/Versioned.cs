namespace SparkControl.Core.Streams;

/// <summary>One published state of a <see cref="SnapshotStream{T}"/>: the value, its version and when it was published.</summary>
public sealed record Versioned<T>(long Version, T Value, DateTimeOffset PublishedAt);
