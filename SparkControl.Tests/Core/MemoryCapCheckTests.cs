using Microsoft.Extensions.Logging.Abstractions;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

/// <summary>A definition's memory cap against its Spark's memory: refused above it, and not refused for what is not known.</summary>
public sealed class MemoryCapCheckTests
{
    private const long Gib = 1L << 30;
    private readonly FakeSparkHost _host = new("spark-1") { Memory = new MemoryInfo((long)(121.7 * Gib), 100 * Gib) };
    private readonly MemoryCapCheck _check;

    public MemoryCapCheckTests()
    {
        var fleet = new SparkFleet(TimeProvider.System);
        fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "spark-1.test", User = "nvidia" }, _host, false)], [], false));
        _check = new MemoryCapCheck(fleet, NullLogger<MemoryCapCheck>.Instance);
    }

    private static ServiceDefinition Service(string spark, long? cap) => new() { Spark = spark, Name = "asr", Kind = ServiceKind.ParakeetAsr, Container = "asr", MemoryLimitBytes = cap };

    [Theory]
    [InlineData(121L, null)]
    [InlineData(122L, "memoryLimit 122g is more than spark-1 has: 121.7 GiB of memory")]
    [InlineData(500L, "memoryLimit 500g is more than spark-1 has: 121.7 GiB of memory")]
    public async Task ACap_IsRefusedOnlyAboveTheSparksMemory(long gib, string? said)
    {
        var problem = await _check.CheckAsync(Service("spark-1", gib * Gib), CancellationToken.None);

        Assert.Equal(said, problem?.Message);
        Assert.True(problem is null || problem.Field == "memoryLimit");
    }

    [Fact]
    public async Task NoCap_AnUnknownSpark_OrASparkThatDoesNotAnswer_AreNotReasonsToRefuse()
    {
        var noCap = await _check.CheckAsync(Service("spark-1", null), CancellationToken.None);
        var unknownSpark = await _check.CheckAsync(Service("spark-9", 500 * Gib), CancellationToken.None);
        _host.MemoryFailure = new SparkUnreachableException("spark-1", "spark-1 does not answer");
        var unreachable = await _check.CheckAsync(Service("spark-1", 500 * Gib), CancellationToken.None);

        Assert.Null(noCap);
        Assert.Null(unknownSpark);
        Assert.Null(unreachable);
    }
}
