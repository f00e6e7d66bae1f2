using SparkControl.Core.Hosts;

namespace SparkControl.Tests.Core;

public sealed class MeminfoTests
{
    [Fact]
    public void Parse_Gb10Excerpt_GivesUnifiedMemoryInBytes()
    {
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "nvidia-smi", "gb10", "meminfo-excerpt.txt"));

        var memory = Meminfo.Parse(text);

        Assert.Equal(127600748L * 1024, memory.TotalBytes);
        Assert.Equal(118566368L * 1024, memory.AvailableBytes);
        Assert.Equal((127600748L - 118566368L) * 1024, memory.UsedBytes);
        Assert.InRange(memory.TotalBytes / (double)(1L << 30), 121.0, 122.0);
    }

    [Fact]
    public void Parse_MissingAvailable_Throws() =>
        Assert.Throws<FormatException>(() => Meminfo.Parse("MemTotal: 100 kB\nMemFree: 5 kB\n"));
}
