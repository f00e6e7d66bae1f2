using SparkControl.Web.Security;
using SparkControl.Core.Access;
using Microsoft.AspNetCore.Components;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Sparks;
using SparkControl.Web.Model;

namespace SparkControl.Web.Components.Dialogs;

/// <summary>Scans a Spark's model roots and registers a found model with one click.</summary>
public partial class DiscoveryDialog
{
    [Inject]
    public required Caller Caller { get; init; }

    private readonly Dictionary<string, string> _registered = [];
    private string? _spark;
    private bool _busy;
    private IReadOnlyList<DiscoveredModel>? _found;
    private List<string> _errors = [];

    [CascadingParameter]
    private IMudDialogInstance Dialog { get; set; } = null!;

    [Inject]
    public required SparkFleet Fleet { get; init; }

    [Inject]
    public required ModelCatalog Catalog { get; init; }

    [Inject]
    public required ModelRegistrar Registrar { get; init; }

    protected override void OnInitialized() => _spark = Fleet.Current.Sparks.FirstOrDefault()?.Name;

    private string? RegisteredAs(DiscoveredModel candidate) => _registered.GetValueOrDefault(candidate.Path) ?? candidate.RegisteredAs;

    private static Color KindColor(LocalModelKind kind) => kind switch
    {
        LocalModelKind.FullModel => Color.Success,
        LocalModelKind.Adapter => Color.Info,
        _ => Color.Warning,
    };

    private static string KindText(LocalModelKind kind) => kind switch
    {
        LocalModelKind.FullModel => "full model",
        LocalModelKind.Adapter => "PEFT adapter",
        _ => "incomplete",
    };

    private async Task ScanAsync()
    {
        _busy = true;
        _errors = [];
        try
        {
            var spark = Fleet.Current.Find(_spark!) ?? throw new KeyNotFoundException($"No Spark is named '{_spark}'.");
            _found = await ModelDiscovery.ScanAsync(spark.Host, spark.Definition, Catalog.Current, CancellationToken.None);
        }
        catch (Exception ex) when (ModelDialogs.Describe(ex) is { } messages)
        {
            _errors = messages;
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task RegisterAsync(DiscoveredModel candidate)
    {
        _errors = [];
        try
        {
            var (model, _) = await Registrar.AddAsync(new ModelInput.AddModelBody("local", null, null, candidate.Spark, candidate.Path, null, null), CancellationToken.None);
            Caller.Audit("model.add", model.Id, $"{candidate.Spark}:{candidate.Path} from the panel's scan");
            _registered[candidate.Path] = model.Id;
        }
        catch (Exception ex) when (ModelDialogs.Describe(ex) is { } messages)
        {
            _errors = messages;
        }
    }

    private void Close() => Dialog.Close(_registered.Count > 0 ? DialogResult.Ok($"Registered {string.Join(", ", _registered.Values)}.") : DialogResult.Cancel());
}
