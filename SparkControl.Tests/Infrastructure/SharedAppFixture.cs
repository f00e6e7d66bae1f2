namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// One panel with the test defaults for a whole test class whose requests change nothing on it (reads, refusals), so
/// that each case does not pay for starting one.
/// </summary>
public sealed class SharedAppFixture : IAsyncLifetime
{
    public SparkControlApp App { get; private set; } = null!;

    public async Task InitializeAsync() => App = await SparkControlApp.StartAsync();

    public async Task DisposeAsync() => await App.DisposeAsync();
}
