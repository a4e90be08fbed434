// ss_swift.h — SWIFT (arXiv 2505.12225): a linear reward head over hidden-state features.
//   [g_t, r_t] = W x_t + b        W: [2, F], x_t: features of response token t
//   R = sum_t sigmoid(g_t) r_t / max(sum_t sigmoid(g_t), 1e-8)      (no_gate: mean_t r_t)
// Trained with BCE (or hinge / pairwise) on the correctness of sampled answers, AdamW,
// validation split by question, early stopping that keeps the best epoch.
#ifndef SS_SWIFT_H
#define SS_SWIFT_H
#include "ss_common.h"

// which features a head reads
typedef struct {
    char   layers[256];   // spec as given: "all", "last4", "12,16,20,24", or "logits"
    int    n_layers;      // resolved list (HF numbering, see slotswift.h ss_ctx_set_layers)
    int    layer[256];
    bool   norm;          // final norm applied to each layer (--swift-norm)
    bool   logits;        // features are the logits (--swift-logits)
    int    dim;           // feature dimension F
} ss_swift_spec;

// resolve a layer spec for a model with n_layer blocks and n_embd, n_vocab; -1 + err if bad
int ss_swift_spec_parse(ss_swift_spec *s, const char *spec, bool norm, bool logits,
                        int n_layer, int n_embd, int n_vocab, char *err, size_t errlen);

typedef struct ss_swift_head {
    ss_swift_spec spec;
    int     dim;
    float  *W;            // [2, dim]: row 0 = gate, row 1 = reward
    float   b[2];
    bool    no_gate;
    // provenance (written into / read from the head file)
    char    model_name[256];
    uint64_t model_fingerprint;
    char    train_info[2048];   // JSON text: data dir, loss, lr, wd, epochs, best epoch, seed, ...
    char    val_metrics[1024];  // JSON text: val loss, accuracy, ...
} ss_swift_head;

void ss_swift_head_init(ss_swift_head *h, const ss_swift_spec *spec);   // zero weights
void ss_swift_head_free(ss_swift_head *h);
// head file: a small GGUF (tensors swift.W [dim,2] F32, swift.b [2] F32; keys swift.*); atomic write
int  ss_swift_head_save(const ss_swift_head *h, const char *path, char *err, size_t errlen);
int  ss_swift_head_load(ss_swift_head *h, const char *path, char *err, size_t errlen);
// 0 if the head was trained for this model (same fingerprint; its layer spec resolves to the same
// layers and dimension for these shapes), else -1 with a one-line error naming both models.
int  ss_swift_head_check_model(const ss_swift_head *h, const char *model_name, uint64_t fingerprint,
                               int n_layer, int n_embd, int n_vocab, char *err, size_t errlen);

// running reward: add one token's features at a time; the reward is available at every token
typedef struct { double sum_gr, sum_g, sum_r; int n; } ss_swift_acc;
void  ss_swift_acc_reset(ss_swift_acc *a);
void  ss_swift_acc_add(ss_swift_acc *a, const ss_swift_head *h, const float *x);
float ss_swift_acc_reward(const ss_swift_acc *a, const ss_swift_head *h);
// batch formula over a whole response X[T, dim] (the definition; tests compare the two)
float ss_swift_reward(const ss_swift_head *h, const float *X, int T);

// ---- training ----
// one training example = one candidate response: its token features, its label, its question id
typedef struct {
    const void *X;        // [T, dim] features, F32 or F16 (x_f16)
    bool   x_f16;
    int    T;
    float  label;         // 1 correct, 0 wrong
    int    question;      // for the split and pairwise loss
} ss_swift_example;

enum ss_swift_loss { SS_SWIFT_BCE = 0, SS_SWIFT_HINGE = 1, SS_SWIFT_PAIRWISE = 2 };

typedef struct {
    int   loss;           // enum ss_swift_loss
    float lr, wd;         // 1e-4, 1e-5 (AdamW, betas 0.9/0.999, eps 1e-8)
    int   epochs;         // 40
    float val_frac;       // 0.2 (split by question)
    int   patience;       // 3
    uint64_t seed;
    int   batch;          // examples per step (default 16)
    bool  no_gate;
    bool  standardize;    // train on z-scored features (stats of the training split), folded back into W, b
    bool  progress;       // progress bar + per-epoch lines on stderr
    // optional: called after every epoch (val_* are NAN when there is no validation set)
    void (*on_epoch)(void *ud, int epoch, double train_loss, double train_acc, double val_loss, double val_acc);
    void *on_epoch_ud;
} ss_swift_train_params;

void ss_swift_train_params_default(ss_swift_train_params *p);
// "bce" / "hinge" / "pairwise" <-> enum ss_swift_loss; -1 / NULL when unknown
int         ss_swift_loss_parse(const char *name);
const char *ss_swift_loss_name(int loss);

typedef struct {
    int    best_epoch, epochs_run;                     // 1-based
    // at the best epoch: train_* are the running means over that epoch's steps (as the reference
    // reports them), val_* are computed after the epoch (NAN without validation data)
    double train_loss, val_loss, train_acc, val_acc;
} ss_swift_train_result;

// the validation split used by ss_swift_train: the distinct question ids are shuffled (seeded) and
// the first round(val_frac * n_questions) (at least 1 and at most n_questions - 1 when val_frac > 0
// and there are 2+ questions) are validation. Fills is_val[n]; returns the number of val questions.
int ss_swift_split(const ss_swift_example *ex, int n, float val_frac, uint64_t seed, bool *is_val);

// Train h (initialised with its spec) on ex[n]. The weights are re-initialised from the seed like
// torch's nn.Linear (U(-1/sqrt(dim), 1/sqrt(dim))); the best validation epoch's weights are kept
// (the last epoch's without validation data). Accuracy: R > 0 <=> correct (bce, hinge), or the
// fraction of (correct, wrong) pairs with R_pos > R_neg (pairwise). Fills h->train_info / val_metrics.
int ss_swift_train(ss_swift_head *h, const ss_swift_example *ex, int n, const ss_swift_train_params *p,
                   ss_swift_train_result *res, char *err, size_t errlen);
// loss over examples (and gradient wrt W,b if gW/gb non-NULL) — for the finite-difference test
double ss_swift_loss_grad(const ss_swift_head *h, const ss_swift_example *ex, int n, int loss,
                          float *gW, float *gb);

// ---- combining with an external score per candidate ----
// ranking: a candidate's combined rank is the worse of its two ranks (ties broken by swift);
// scaling: min-max normalise both within the candidates, average. Returns the chosen index.
int ss_swift_combine(const float *swift, const float *ext, int n, const char *method);

#endif
