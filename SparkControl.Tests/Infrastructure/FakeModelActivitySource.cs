using SparkControl.Core.Gpu;
using SparkControl.Core.Streams;

namespace SparkControl.Tests.Infrastructure;

/// <summary>Model activity a test sets by hand.</summary>
public sealed class FakeModelActivitySource(TimeProvider time) : IModelActivitySource
{
    private readonly SnapshotStream<FleetModelActivity> _stream = new(FleetModelActivity.Empty, time);

    public Versioned<FleetModelActivity> Current => _stream.Current;

    public IAsyncEnumerable<Versioned<FleetModelActivity>> WatchAsync(CancellationToken cancellationToken) => _stream.WatchAsync(cancellationToken);

    public void Set(string spark, ModelActivity activity) =>
        _stream.Publish(current => new FleetModelActivity(current.Sparks.SetItem(spark, activity)));
}
