using SparkControl.Core.Gpu;
using SparkControl.Core.Services;

namespace SparkControl.Tests.Core;

public sealed class HealthModelActivityTests
{
    private static FleetHealth Fleet(params SparkHealth[] sparks) => new([.. sparks]);

    private static SparkHealth Spark(HealthStatus? model, bool checkedModel = true, Reachability reachability = Reachability.Reachable) => new()
    {
        Spark = "spark-1",
        Reachability = reachability,
        ModelChecked = checkedModel,
        Model = model is { } status ? new LoadedModel("qwen3-8b", "qwen3-8b", "sparkcontrol-llm", 8000, status) : null,
    };

    [Theory]
    [InlineData(HealthStatus.Loading, ModelActivityState.Loading)]
    [InlineData(HealthStatus.Healthy, ModelActivityState.Loaded)]
    [InlineData(HealthStatus.Degraded, ModelActivityState.Loaded)]
    [InlineData(HealthStatus.Down, ModelActivityState.Loaded)]
    [InlineData(null, ModelActivityState.NoModel)]
    public void Derive_ModelServerStatus_GivesTheActivity(HealthStatus? status, ModelActivityState expected)
    {
        var activity = HealthModelActivity.Derive(FleetModelActivity.Empty, Fleet(Spark(status))).Find("spark-1");

        Assert.Equal(expected, activity.State);
        Assert.Equal(status is null ? null : "qwen3-8b", activity.Model);
    }

    [Fact]
    public void Derive_FirstCheckStillProbing_IsUnknownNotNoModel() =>
        Assert.Equal(ModelActivity.Unknown, HealthModelActivity.Derive(FleetModelActivity.Empty, Fleet(Spark(null, checkedModel: false))).Find("spark-1"));

    [Fact]
    public void Derive_SparkUnreachable_KeepsWhatItWasLastSeenDoing()
    {
        var loaded = HealthModelActivity.Derive(FleetModelActivity.Empty, Fleet(Spark(HealthStatus.Healthy)));

        var unreachable = HealthModelActivity.Derive(loaded, Fleet(Spark(null, checkedModel: false, Reachability.Unreachable)));

        Assert.Same(loaded, unreachable);
    }

    [Fact]
    public void Derive_NothingChanged_ReturnsTheSameSnapshot()
    {
        var first = HealthModelActivity.Derive(FleetModelActivity.Empty, Fleet(Spark(HealthStatus.Healthy)));

        Assert.Same(first, HealthModelActivity.Derive(first, Fleet(Spark(HealthStatus.Degraded))));
        Assert.Empty(HealthModelActivity.Derive(first, Fleet()).Sparks);
    }
}
