using SparkControl.Core.Operations;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Swaps;

namespace SparkControl.Tests.Operations;

/// <summary>The alert rules as a table: one alert when a problem begins, one when it ends, none per tick.</summary>
public sealed class AlertRulesTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 3, 3, 0, 0, TimeSpan.Zero);
    private static readonly AlertTarget Everything = new() { Name = "pager" };
    private static readonly AlertTarget SwapsOnly = new() { Name = "swaps", Kinds = [AlertKind.SwapFailed] };
    private static readonly AlertTarget[] Targets = [Everything, SwapsOnly];
    private long _id;

    private FleetEvent Health(HealthStatus status, string reason = "probe answered", string name = "asr") => new(++_id, FleetEventKind.Health, T0.AddSeconds(_id), Health: new ServiceHealth
    {
        Spark = "spark-1",
        Name = name,
        Kind = ServiceKind.ParakeetAsr,
        Status = status,
        Reason = reason,
        Since = T0,
        CheckedAt = T0.AddSeconds(_id),
    });

    private FleetEvent Swap(string id, SwapPhase phase) => new(++_id, FleetEventKind.Swap, T0.AddSeconds(_id), Swap: new SwapStatus
    {
        Id = id,
        Target = "spark-1",
        Sparks = ["spark-1"],
        ModelId = "qwen3-8b",
        Requester = "olga",
        Phase = phase,
        RequestedAt = T0,
        Message = phase == SwapPhase.Failed ? "Loading failed: CUDA out of memory" : phase.ToString(),
    });

    [Fact]
    public void AServiceDown_AlertsOnce_AcrossEveryTickItStaysDown_ThenOnceWhenHealthyAgain()
    {
        var rules = new AlertRules();
        var alerts = new[]
        {
            Health(HealthStatus.Healthy),
            Health(HealthStatus.Down, "container exited (137)"),
            Health(HealthStatus.Down, "container exited (137)"),
            Health(HealthStatus.Down, "container not found"),
            Health(HealthStatus.Loading, "starting"),
            Health(HealthStatus.Down, "container exited (1)"),
            Health(HealthStatus.Healthy),
            Health(HealthStatus.Healthy),
        }.SelectMany(e => rules.OnEvent(e, Targets)).ToList();

        // Only the webhook that hears service-down gets them; Loading in between neither ends nor repeats the alert.
        Assert.Equal([("pager", true), ("pager", false)], alerts.Select(a => (a.Target.Name, a.Alert.Firing)));
        Assert.Equal("spark-1/asr is down: container exited (137).", alerts[0].Alert.Message);
        Assert.Equal("service-down:spark-1/asr", alerts[0].Alert.Key);
        Assert.Equal(alerts[0].Alert.Key, alerts[1].Alert.Key);
    }

    [Fact]
    public void AServiceHealthyFromTheStart_NeverAlerts_AndTwoServicesAreTwoStates()
    {
        var rules = new AlertRules();
        var alerts = new[]
        {
            Health(HealthStatus.Healthy),
            Health(HealthStatus.Unknown, "not checked yet"),
            Health(HealthStatus.Down, "exited", name: "tts"),
            Health(HealthStatus.Down, "exited", name: "asr"),
            Health(HealthStatus.Down, "exited", name: "tts"),
        }.SelectMany(e => rules.OnEvent(e, Targets)).ToList();

        Assert.Equal(["service-down:spark-1/tts", "service-down:spark-1/asr"], alerts.Select(a => a.Alert.Key));
    }

    [Fact]
    public void AFailedSwap_AlertsEveryWebhookThatHearsIt_OnceEvenWhenItsEventComesAgain()
    {
        var rules = new AlertRules();
        var alerts = new[]
        {
            Swap("a1", SwapPhase.Loading),
            Swap("a1", SwapPhase.Failed),
            Swap("a1", SwapPhase.Failed),
            Swap("b2", SwapPhase.Ready),
            Swap("c3", SwapPhase.Cancelled),
        }.SelectMany(e => rules.OnEvent(e, Targets)).ToList();

        Assert.Equal(["pager", "swaps"], alerts.Select(a => a.Target.Name));
        Assert.All(alerts, a => Assert.Equal("The swap to qwen3-8b on spark-1 failed: Loading failed: CUDA out of memory", a.Alert.Message));
    }

    [Theory]
    [InlineData(new[] { 80.0, 91, 95, 99, 91 }, new[] { true })]
    [InlineData(new[] { 91.0, 89, 91, 89.5 }, new[] { true })]
    [InlineData(new[] { 91.0, 87.9, 91 }, new[] { true, false, true })]
    [InlineData(new[] { 90.0, 90, 70 }, new bool[0])]
    [InlineData(new[] { 100.0, 50 }, new[] { true, false })]
    public void ADiskGauge_FiresAboveItsThreshold_AndEndsOnlyTwoPointsBelow(double[] readings, bool[] expected)
    {
        var rules = new AlertRules();
        var alerts = readings.SelectMany(r => rules.OnGauge(AlertKind.Disk, "spark-1", "/", r, T0, [Everything, SwapsOnly])).ToList();

        Assert.Equal(expected, alerts.Select(a => a.Alert.Firing));
        Assert.All(alerts, a => Assert.Equal("pager", a.Target.Name));
    }

    [Fact]
    public void EachWebhookHasItsOwnThreshold_AndMemoryAndDiskAreApart()
    {
        var rules = new AlertRules();
        var strict = new AlertTarget { Name = "strict", MemoryPercent = 80, DiskPercent = 80 };
        AlertTarget[] targets = [Everything, strict];

        var memory = rules.OnGauge(AlertKind.Memory, "spark-1", "unified memory", 85, T0, targets).ToList();
        var disk = rules.OnGauge(AlertKind.Disk, "spark-1", "/", 85, T0, targets).ToList();
        var higher = rules.OnGauge(AlertKind.Memory, "spark-1", "unified memory", 96, T0, targets).ToList();

        Assert.Equal(["strict"], memory.Select(a => a.Target.Name));
        Assert.Equal(["strict"], disk.Select(a => a.Target.Name));
        Assert.Equal(["pager"], higher.Select(a => a.Target.Name));
        Assert.Equal("Unified memory on spark-1 is 96% full", higher[0].Alert.Title);
    }
}
