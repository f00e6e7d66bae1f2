using SparkControl.Core.Gateway;

namespace SparkControl.Tests.Core;

public sealed class GatewayTargetTests
{
    private static GatewayTarget Target(string endpoint = "http://127.0.0.1:8000/", string served = "qwen3-8b") =>
        new("demo", "sparkcontrol-llm", "qwen3-8b", new Uri(endpoint), [served], ["default-chat"]);

    [Fact]
    public void TheSameServer_RebuiltFromANewSnapshot_IsStillTheSame()
    {
        // The routing table is rebuilt per request: name arrays are new instances each time.
        Assert.True(Target().IsSameServer(Target()));
    }

    [Theory]
    [InlineData("http://127.0.0.1:8001/", "qwen3-8b")]
    [InlineData("http://127.0.0.1:8000/", "gpt-oss-20b")]
    public void AnotherPortOrAnotherModel_IsNot(string endpoint, string served) =>
        Assert.False(Target().IsSameServer(Target(endpoint, served)));

    [Fact]
    public void Upstream_IsTheFirstServedName_AndNamesIncludeAliases()
    {
        Assert.Equal("qwen3-8b", Target().Upstream);
        Assert.Equal(["qwen3-8b", "default-chat"], Target().Names);
    }
}
