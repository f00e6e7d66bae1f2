using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.DependencyInjection;
using SparkControl.Tests.Core;
using SparkControl.Web.Hosting;
using SparkControl.Core.Diagnostics;

namespace SparkControl.Tests.Web;

/// <summary>The console log masks known secrets in every message and exception, whatever code logged them.</summary>
public sealed class RedactingConsoleFormatterTests
{
    [Fact]
    public void MessageAndException_AreMasked_InTheSimpleFormat()
    {
        var secret = $"plain{Guid.NewGuid():N}";
        LogRedactor.AddKnownSecrets([secret]);
        var formatter = new RedactingConsoleFormatter(new StaticOptionsMonitor<ConsoleFormatterOptions>(new ConsoleFormatterOptions()));
        var exception = new InvalidOperationException($"the Spark said: bad key {secret}");
        var entry = new LogEntry<string>(LogLevel.Warning, "SparkControl.Core.Swaps.SwapOrchestrator", new EventId(7), $"swap failed with {secret}", exception, (state, _) => state);
        using var output = new StringWriter();

        formatter.Write(entry, null, output);

        var text = output.ToString();
        Assert.StartsWith("warn: SparkControl.Core.Swaps.SwapOrchestrator[7]" + Environment.NewLine + "      swap failed with [REDACTED]", text, StringComparison.Ordinal);
        Assert.Contains("the Spark said: bad key [REDACTED]", text, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
    }

    [Fact]
    public void TheApp_LogsThroughIt()
    {
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        builder.AddSparkControl();
        using var app = builder.Build();
        var configured = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ConsoleLoggerOptions>>().Value;
        var formatters = app.Services.GetServices<ConsoleFormatter>();

        Assert.Equal(RedactingConsoleFormatter.FormatterName, configured.FormatterName);
        Assert.Contains(formatters, f => f is RedactingConsoleFormatter);
    }
}
