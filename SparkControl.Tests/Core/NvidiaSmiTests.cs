using SparkControl.Core.Hosts;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Core;

public sealed class NvidiaSmiTests
{
    private static string Fixture(string path) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "nvidia-smi", path));

    [Fact]
    public void ParseSample_H100Timeline_ReadsEveryLineAsUtc()
    {
        string[] fields = ["timestamp", "utilization.gpu", "memory.used", "power.draw"];
        var lines = Fixture("h100/timeline-solid.csv").Split('\n', StringSplitOptions.RemoveEmptyEntries);

        var samples = lines.Select(l => NvidiaSmi.ParseSample(l, fields)).ToList();

        Assert.All(samples, Assert.NotNull);
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 16, 18, 14, 627, TimeSpan.Zero), samples[0]!.Timestamp);
        Assert.Equal(0, samples[0]!.UtilizationPercent);
        Assert.Equal(74.00, samples[0]!.PowerDrawWatts);
        Assert.Contains(samples, s => s!.UtilizationPercent == 100);
        Assert.True(samples.Zip(samples.Skip(1)).All(p => p.First!.Timestamp < p.Second!.Timestamp));
    }

    [Fact]
    public void ParseSample_Gb10MemoryNotAvailable_GivesNullMemoryAndRealUtilization()
    {
        string[] fields = ["timestamp", "index", "utilization.gpu", "memory.used", "memory.total", "power.draw", "temperature.gpu"];

        var sample = NvidiaSmi.ParseSample("2026/11/26 10:00:00.000, 0, 87, [N/A], [N/A], 41.20, 52", fields);

        Assert.NotNull(sample);
        Assert.Equal(87, sample.UtilizationPercent);
        Assert.Null(sample.MemoryUsedMiB);
        Assert.Null(sample.MemoryTotalMiB);
        Assert.Equal(41.2, sample.PowerDrawWatts);
        Assert.Equal(52, sample.TemperatureCelsius);
    }

    [Fact]
    public void ParseSample_Gb10CapturedLine_ParsesWithNullMemory()
    {
        // query-memused-memtotal-utilmem-noheader.csv as a Spark owner posted it.
        var line = Fixture("gb10/query-memused-memtotal-utilmem-noheader.csv").Trim();
        var values = line.Split(',').Select(v => NvidiaSmi.ParseNumber(v)).ToList();

        Assert.Equal([null, null, 0.0], values);
    }

    [Theory]
    [InlineData("[N/A]", null)]
    [InlineData("[Not Supported]", null)]
    [InlineData("N/A", null)]
    [InlineData("", null)]
    [InlineData("0 %", 0.0)]
    [InlineData("11.17 W", 11.17)]
    [InlineData(" 74.00", 74.0)]
    [InlineData("35", 35.0)]
    [InlineData("nan", null)]
    [InlineData("garbage", null)]
    public void ParseNumber_Values_AreReadDefensively(string text, double? expected) =>
        Assert.Equal(expected, NvidiaSmi.ParseNumber(text));

    [Theory]
    [InlineData("")]
    [InlineData("timestamp, utilization.gpu [%]")]
    [InlineData("2026/11/26 16:18:14.627")]
    [InlineData("not a date, 5, 0, 1")]
    public void ParseSample_Malformed_ReturnsNull(string line) =>
        Assert.Null(NvidiaSmi.ParseSample(line, ["timestamp", "utilization.gpu", "memory.used", "power.draw"]));

    [Fact]
    public void ParseComputeApps_H100AndGb10_ReadPidsAndMemory()
    {
        var h100 = NvidiaSmi.ParseComputeApps(Fixture("h100/compute-apps-header.csv"));
        var gb10 = NvidiaSmi.ParseComputeApps(Fixture("gb10/compute-apps-noheader.csv"));

        var single = Assert.Single(gb10);
        Assert.Equal(114687, single.Pid);
        Assert.Equal("/usr/local/bin/python", single.ProcessName);
        Assert.Equal(19135, single.UsedMemoryMiB);
        Assert.NotEmpty(h100);
        Assert.All(h100, app => Assert.True(app.UsedMemoryMiB > 0));
    }

    [Fact]
    public void ParseComputeApps_NoProcesses_IsEmpty() =>
        Assert.Empty(NvidiaSmi.ParseComputeApps("No running processes found\n"));
}
