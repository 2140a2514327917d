import { crossEntropy, eq, manualSeed, matmul, noGrad, randn, relu, zeros, type Tensor } from '@glassbox/tensor';

/**
 * Placeholder for `glassbox demo`. The full demo (train the induction organism, watch its head
 * form, train an SAE, find the circuit) needs the model, SDL and attribution packages, which have
 * not landed. Until then it exercises the engine end to end: a 2-layer MLP learns a synthetic
 * classification task with autograd and plain SGD.
 */
export async function runDemo({ seed }: { seed: number }): Promise<void> {
  process.stdout.write(
    'glassbox demo: placeholder. The full demo (induction organism, SAE, circuit discovery) is not built yet;\n' +
      'this run trains a small MLP with the Glassbox tensor engine to show autograd working end to end.\n\n',
  );
  manualSeed(seed);
  const [samples, dIn, dHidden, classes] = [256, 16, 64, 4];
  const x = randn([samples, dIn]);
  const teacher = randn([dIn, classes]);
  const y = matmul(x, teacher).argmax(-1);
  const params = [randn([dIn, dHidden]).mul(0.25), zeros([dHidden]), randn([dHidden, classes]).mul(0.125), zeros([classes])].map((p) =>
    p.detach().setRequiresGrad(),
  ) as [Tensor, Tensor, Tensor, Tensor];
  const [w1, b1, w2, b2] = params;
  const lr = 0.5;
  for (let step = 0; step <= 300; step++) {
    const logits = matmul(relu(matmul(x, w1).add(b1)), w2).add(b2);
    const loss = crossEntropy(logits, y);
    for (const p of params) p.grad = null;
    loss.backward();
    noGrad(() => {
      for (const p of params) p.copyFrom(p.sub(p.grad!.mul(lr)));
    });
    if (step % 50 === 0) {
      const accuracy = noGrad(() => eq(logits.argmax(-1), y).cast('float32').mean().item());
      process.stdout.write(`step ${String(step).padStart(3)}  loss ${loss.item().toFixed(4)}  accuracy ${(accuracy * 100).toFixed(1)}%\n`);
    }
  }
}
