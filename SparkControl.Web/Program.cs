using SparkControl.Web.Hosting;

if (args is ["sweep", .. var sweepArgs])
{
    // The concurrency sweep from a terminal: no web host, no data directory.
    return await SweepCommand.RunAsync(sweepArgs, Console.Out, Console.Error, CancellationToken.None);
}

var builder = WebApplication.CreateBuilder(args);
if (StartupValidation.Describe(builder.Configuration) is { } problem)
{
    // One readable line naming the key, not a stack trace.
    await Console.Error.WriteLineAsync($"Spark Control cannot start: {problem}");
    return 2;
}

builder.AddSparkControl();
var app = builder.Build();
if (SparkControl.Web.Security.AccessStartup.Refusal(app.Services, app.Configuration) is { } refusal)
{
    await Console.Error.WriteLineAsync($"Spark Control cannot start: {refusal}");
    return 2;
}

app.UseSparkControl();
await app.RunAsync();
return 0;

/// <summary>The web host's entry point; public so tests can start it with WebApplicationFactory.</summary>
public partial class Program;
