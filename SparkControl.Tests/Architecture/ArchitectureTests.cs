using ArchUnitNET.Domain;
using ArchUnitNET.Loader;
using SparkControl.Core.Sparks;

namespace SparkControl.Tests.Architecture;

/// <summary>
/// The rules of the code's shape, checked on the compiled assemblies (ArchUnitNET reads every dependency, method bodies
/// included): Core's folders form layers that depend one way, Core knows nothing of ASP.NET Core, and only the remote
/// layer touches SSH. Each rule also runs against a case that breaks it, so a rule that can no longer fail is noticed.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly Lazy<ArchUnitNET.Domain.Architecture> Loaded = new(() =>
        new ArchLoader().LoadAssemblies(typeof(SparkFleet).Assembly, typeof(Program).Assembly).Build());

    private static ArchUnitNET.Domain.Architecture Code => Loaded.Value;

    private static IEnumerable<IType> CoreTypes => Code.Types.Where(t => (t.Namespace?.FullName ?? string.Empty).StartsWith(CoreLayers.Root, StringComparison.Ordinal));

    private static IEnumerable<IType> WebTypes => Code.Types.Where(t => (t.Namespace?.FullName ?? string.Empty).StartsWith("SparkControl.Web", StringComparison.Ordinal));

    [Fact]
    public void CoreFolders_UseOnlyFoldersBelowThemInTheLayerTable()
    {
        var violations = CoreLayers.Violations(CoreTypes, CoreLayers.Order);

        Assert.True(violations.Count == 0, $"{violations.Count} dependencies go up or sideways against the layer table:\n{string.Join('\n', violations.Take(40))}");
    }

    [Fact]
    public void EveryCoreFolder_IsInTheLayerTable()
    {
        var unknown = CoreTypes.Select(t => (t.Namespace?.FullName ?? string.Empty)).Distinct().Where(ns => CoreLayers.FolderOf(ns, CoreLayers.Order) is null).ToList();

        Assert.Empty(unknown);
    }

    [Fact]
    public void LayerCheck_ReportsTheDependencies_WhenTheTableIsTurnedUpsideDown()
    {
        var reversed = CoreLayers.Order.Reverse().ToArray();

        var violations = CoreLayers.Violations(CoreTypes, reversed);

        // Swaps use Hosts: with Hosts above Swaps, that is a violation the check must name.
        Assert.Contains(violations, v => v.StartsWith("Swaps: ", StringComparison.Ordinal) && v.Contains("→ Hosts: ", StringComparison.Ordinal));
    }

    [Fact]
    public void Core_DependsOnNothingOfAspNetCore()
    {
        var references = typeof(SparkFleet).Assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)).ToList();
        var uses = Uses(CoreTypes, "Microsoft.AspNetCore");

        Assert.Empty(references);
        Assert.Empty(uses);
        // The same check finds ASP.NET Core where it is: in Web.
        Assert.NotEmpty(Uses(WebTypes, "Microsoft.AspNetCore"));
    }

    [Fact]
    public void OnlyTheRemoteLayer_TouchesSsh()
    {
        var outside = Uses(Code.Types.Where(t => !(t.Namespace?.FullName ?? string.Empty).StartsWith("SparkControl.Core.Remote", StringComparison.Ordinal)), "Renci.SshNet");

        Assert.Empty(outside);
        Assert.NotEmpty(Uses(Code.Types.Where(t => (t.Namespace?.FullName ?? string.Empty).StartsWith("SparkControl.Core.Remote", StringComparison.Ordinal)), "Renci.SshNet"));
    }

    [Fact]
    public void WebComponents_ReachSparksThroughServices_NeverThroughTheRemoteShell()
    {
        string[] shell = ["SparkControl.Core.Remote.IRemoteShell", "SparkControl.Core.Remote.SshRemoteShell", "SparkControl.Core.Remote.RemoteCommand", "SparkControl.Core.Hosts.DockerSparkHost"];
        var components = Code.Types.Where(t => (t.Namespace?.FullName ?? string.Empty).StartsWith("SparkControl.Web.Components", StringComparison.Ordinal));

        var uses = components.SelectMany(t => t.Dependencies.Where(d => shell.Contains(d.Target.FullName)).Select(d => $"{t.FullName} → {d.Target.FullName}")).Distinct().ToList();

        Assert.Empty(uses);
        // The check does see the shell where it belongs: the host that runs commands through it.
        Assert.Contains(Code.Types.Single(t => t.FullName == "SparkControl.Core.Hosts.DockerSparkHost").Dependencies, d => d.Target.FullName == "SparkControl.Core.Remote.IRemoteShell");
    }

    /// <summary>"type → target" for every dependency of <paramref name="types"/> on a namespace under <paramref name="prefix"/>.</summary>
    private static List<string> Uses(IEnumerable<IType> types, string prefix) =>
        [.. types.SelectMany(t => t.Dependencies.Where(d => (d.Target.Namespace?.FullName ?? string.Empty).StartsWith(prefix, StringComparison.Ordinal)).Select(d => $"{t.FullName} → {d.Target.FullName}")).Distinct()];
}
